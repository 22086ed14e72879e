"""The registry service (建档立卡 household registry).

Households and persons (建档立卡), assistance measures, exits, monitoring.
"""
