"""Names the capability folders share: the asset group of the stop-file pipeline and the OneMap pool.

Intake (stops, validated and geocoded stops) and route planning (matrix, plan, exports) are one pipeline in the
UI, and both call OneMap; the names live here so neither folder imports the other for them.
"""

GROUP = "route_planning"
# Dagster concurrency pool of the steps that call OneMap (geocoding, matrix), so parallel runs share its limits.
ONEMAP_POOL = "onemap"
