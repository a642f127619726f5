"""``pna fetch``: download, clip and record the street network and bus timetable for an area.

Modules by concern: :mod:`.index` (the region index and the extract covering an area),
:mod:`.download` (resumable, checked downloads), :mod:`.clip_osm` and :mod:`.clip_gtfs` (cutting
the downloads to the buffered area), :mod:`.overlay` (the config overlay) and :mod:`.stage`
(the one ``fetch`` function that ties them together).
"""
