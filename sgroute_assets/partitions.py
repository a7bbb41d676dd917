"""One dynamic partition per stop file; the sensor adds them as files arrive."""

import dagster as dg

stop_files = dg.DynamicPartitionsDefinition(name="stop_files")
