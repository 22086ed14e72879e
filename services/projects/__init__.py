"""The projects service (扶贫项目库 project library). The project library lifecycle, beneficiaries, acceptance (验收) and assets. Business endpoints arrive with issue #6."""
