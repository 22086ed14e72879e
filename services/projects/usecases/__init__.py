"""The projects service's use cases: between the routers (``api/``) and the pure domain (``domain/``).

A use case loads rows, calls the domain, and writes rows and events in one unit of work; routers
parse the request, call one use case and render its result; event handlers call the same use cases.

- ``projects``: loading a project in the caller's jurisdiction, stage checks, recording a step.
- ``evaluations``: the performance evaluation (绩效评价) of accepted projects and the county report.
- ``pairings``: 百企千村 enterprises, their pairings with villages, labourers and the report.
"""
