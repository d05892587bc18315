"""Delivery: what leaves Heaters for the people downstream.

- :mod:`heaters.deliver.cutlists`: a video's clips as cut lists for editors and players
  (PySceneDetect CSV, CMX 3600 EDL, OpenTimelineIO, WebVTT / ffmetadata chapters, JSON);
  pure formatting from rows; :mod:`heaters.deliver.cut_source` loads one from the database.
- :mod:`heaters.deliver.datasets`: versioned, incremental datasets of reviewed clips for
  training (WebDataset tar shards or Parquet, a ``dataset.json`` manifest with sha256s), to a
  folder or an S3 prefix; :mod:`heaters.deliver.shards` writes one shard of them.
- :mod:`heaters.deliver.states`: which clip states a ``--state`` filter means.

Submodules import their libraries (OpenTimelineIO, pyarrow, webdataset) only when used.
"""

from heaters.deliver.states import CUT_STATE_FILTERS, DATASET_STATE_FILTERS, DeliverError

__all__ = ["CUT_STATE_FILTERS", "DATASET_STATE_FILTERS", "DeliverError"]
