"""The projects service (扶贫项目库 project library): the library lifecycle, beneficiaries, acceptance (验收)
and assets (资产移交). Published contract: :mod:`services.projects.contract`; consumed events:
:mod:`services.projects.handlers`; pure rules: :mod:`services.projects.domain`."""
