"""The exports index (index.html at the top of the exports) rebuilt from what is published.

Called after every publish and after retention deletes exports, so the page a dispatcher bookmarks always lists
the plans that exist. Rebuilt whole from the manifests rather than patched, so two runs publishing at once
cannot leave it missing a plan: the later write lists both.
"""

from sgroute_assets.domain.exports import PublishedPlan, day_index_html
from sgroute_resources.stop_file_store import StopFileStore


def refresh_export_index(store: StopFileStore) -> str:
    """Rewrite the index; its URI."""
    plans = [PublishedPlan(manifest, href) for manifest, href in store.published_plans()]
    return store.write_export_index(day_index_html(plans).encode("utf-8"))
