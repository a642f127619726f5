"""Application assessor and single-closure resilience (see docs/ARCHITECTURE.md).

``assess_application(application, base=...)`` assesses a new, relocated, consolidated or closing
pharmacy against a built run; ``run_resilience`` gives, per mode, the residents who would
fall beyond each threshold if one pharmacy alone closed.
"""
