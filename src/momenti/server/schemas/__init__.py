"""Request and response bodies of the REST API, one module per family of routes.

The `XCreate` models are the write bodies (writes.py); the `XPublic` models are the answers, each validated by
FastAPI (the route's `response_model`) and described field by field in the OpenAPI schema (/docs).
"""

from momenti.server.schemas.analysis import (
                                             DissonancePublic,
                                             DriversPublic,
                                             LoyaltyBankPublic,
                                             PenaltyRewardPublic,
                                             QuadrantPublic,
)
from momenti.server.schemas.contact import AhtPublic, ComplaintsPublic, FcrPublic, RepeatsPublic, SwitchingPublic
from momenti.server.schemas.loyalty import BatteryPublic, IndexPublic, NetShiftPublic, PriceGapPublic, SegmentsPublic
from momenti.server.schemas.meta import HealthPublic, JourneysPublic
from momenti.server.schemas.metrics import ComparePublic, MetricPublic
from momenti.server.schemas.paths import (
                                             ActivitiesPublic,
                                             DfgPublic,
                                             FunnelPublic,
                                             InstancesPublic,
                                             PathLoyaltyPublic,
                                             VariantsPublic,
)
from momenti.server.schemas.retention import CoxPublic, KmPublic, LogrankPublic
from momenti.server.schemas.surveys import (
                                             BounceRow,
                                             InvitationRow,
                                             SurveyApplyPublic,
                                             SurveyPublic,
                                             SurveySummaryPublic,
)
from momenti.server.schemas.text import CommentsPublic, TextAnalyzePublic, TopicsPublic, TrendsPublic
from momenti.server.schemas.writes import (
                                             CREATE_MODELS,
                                             NESTED,
                                             EventCreate,
                                             FeedbackCreate,
                                             ResponseCreate,
                                             WriteResult,
)

__all__ = [
    "CREATE_MODELS", "NESTED", "ActivitiesPublic", "AhtPublic", "BatteryPublic", "BounceRow", "ComparePublic",
    "CommentsPublic", "ComplaintsPublic", "CoxPublic", "DfgPublic", "DissonancePublic", "DriversPublic",
    "EventCreate", "FcrPublic", "FeedbackCreate", "FunnelPublic", "HealthPublic", "IndexPublic",
    "InstancesPublic", "InvitationRow", "JourneysPublic", "KmPublic", "LogrankPublic", "LoyaltyBankPublic",
    "MetricPublic", "NetShiftPublic", "PathLoyaltyPublic", "PenaltyRewardPublic", "PriceGapPublic",
    "QuadrantPublic", "RepeatsPublic", "ResponseCreate", "SegmentsPublic", "SurveyApplyPublic", "SurveyPublic",
    "SurveySummaryPublic", "SwitchingPublic", "TextAnalyzePublic", "TopicsPublic", "TrendsPublic",
    "VariantsPublic", "WriteResult",
]
