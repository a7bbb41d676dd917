"""Runs route_exports whenever a partition's route_plan changes, whoever changed it.

The stop file sensor's job already includes the exports; this covers a plan re-made on its own (the README's
"change the fleet in the Launchpad and re-materialise route_plan"). It is Dagster's declarative automation:
`AutomationCondition.eager()` on route_exports, evaluated by this sensor, which is on by default (Dagster's own
default automation sensor starts switched off, which is how the UI used to leave exports behind).
"""

import dagster as dg

exports_follow_plan_sensor = dg.AutomationConditionSensorDefinition(
    "exports_follow_plan_sensor",
    target=dg.AssetSelection.assets("route_exports"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Re-makes a partition's exports after every new route_plan materialisation.",
)
