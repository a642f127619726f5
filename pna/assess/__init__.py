"""Application assessor and single-closure resilience (see docs/ARCHITECTURE.md).

``assess_application(ctx, application)`` assesses a new, relocated, consolidated or closing
pharmacy against a built run; ``run_resilience(ctx)`` gives, per mode, the residents who would
fall beyond each threshold if one pharmacy alone closed.
"""

from .assessor import AssessmentResult, assess_application
from .resilience import resilience_table, run_resilience
from .sites import Application, application_from_mapping, read_application

__all__ = ["Application", "AssessmentResult", "application_from_mapping", "assess_application",
           "read_application", "resilience_table", "run_resilience"]
