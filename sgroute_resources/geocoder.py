"""Geocoder resources. The embedded default trusts coordinates in the file and nothing else."""

from abc import abstractmethod

from dagster import ConfigurableResource

from sgroute_assets.domain.stops import GeocodedStops, Stop, from_file_coordinates


class Geocoder(ConfigurableResource):
    @abstractmethod
    def geocode(self, stops: list[Stop]) -> GeocodedStops: ...


class FileCoordinatesGeocoder(Geocoder):
    """No external service: stops without lat/lon are reported, never placed at a made-up point."""

    def geocode(self, stops: list[Stop]) -> GeocodedStops:
        return from_file_coordinates(
            stops, "no coordinates in the file and no geocoder is configured (set up OneMap to geocode addresses)"
        )
