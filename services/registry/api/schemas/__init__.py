"""The shapes of the registry's answers, for the OpenAPI document and generated clients (issue 14),
by resource: households and persons, assistance and the review, grievances, change requests,
statistics, the public board, the exchange of lists. Codes are enums of their vocabularies with
each code's label beside it where the route answers one.

Documentation of what the use cases render; the server does not validate answers against it;
further members may follow (``extra`` allowed), while tests check answers against them closed."""

from services.registry.api.schemas.assistance import (
    BenefitNoticeOut, BenefitsOut, DepartmentDataOut, MeasureOut, MissingAssistanceOut, MonitoringOut, PathwayProposalOut,
    ReviewAppliedOut, ReviewOut,
)
from services.registry.api.schemas.board import ArchiveOut, BoardNoticeOut, BoardOut, ObjectionStatusOut
from services.registry.api.schemas.corrections import ChangeRequestOut, ChangeRequestsOut
from services.registry.api.schemas.exchange import (
    DepartmentListOut, DuplicateReviewedOut, DuplicatesOut, ImportsOut, LookupOut, RollImportedOut,
)
from services.registry.api.schemas.grievances import (
    GrievanceOut, GrievancesOut, GrievanceStatusOut, OverdueGrievancesOut,
)
from services.registry.api.schemas.households import (
    HouseholdOut, HouseholdPage, NoticePostedOut, PersonOut, ProposedOut,
)
from services.registry.api.schemas.statistics import ErrorRatesOut, EvaluationOut, StatisticsOut

__all__ = [
    "ArchiveOut", "BenefitsOut", "ChangeRequestsOut", "DuplicatesOut", "GrievancesOut", "ImportsOut",
    "MissingAssistanceOut", "OverdueGrievancesOut",
    "BenefitNoticeOut", "BoardNoticeOut", "BoardOut", "ChangeRequestOut", "DepartmentDataOut", "DepartmentListOut",
    "DuplicateReviewedOut", "ErrorRatesOut", "EvaluationOut", "GrievanceOut", "GrievanceStatusOut", "HouseholdOut",
    "HouseholdPage", "LookupOut", "MeasureOut", "MonitoringOut", "NoticePostedOut", "ObjectionStatusOut",
    "PathwayProposalOut", "PersonOut", "ProposedOut", "ReviewAppliedOut", "ReviewOut", "RollImportedOut",
    "StatisticsOut",
]
