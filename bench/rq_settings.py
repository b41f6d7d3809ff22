"""Settings module for the naive sender's stock `rq worker -c bench.rq_settings`.

Importing the job module here loads requests once in the parent worker, as a
sensible deployment would; otherwise every forked child would import it anew
and the baseline would measure imports rather than rq.
"""

import bench.jobs  # noqa: F401
