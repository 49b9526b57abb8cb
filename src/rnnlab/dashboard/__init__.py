"""The local dashboard and the LSTM cell explorer: ``rnnlab dashboard`` and ``rnnlab explore``.

* :mod:`~rnnlab.dashboard.runs` finds the runs the user named and reads their declared
  files (never anything else, never writing, never taking a lock);
* :mod:`~rnnlab.dashboard.units` gives one LSTM unit of a trained run to the explorer;
* :mod:`~rnnlab.dashboard.server` serves the pages in ``static/`` and JSON about the runs
  from the standard library's ``ThreadingHTTPServer``, bound to 127.0.0.1 by default.

The pages are plain HTML and JavaScript with a vendored uPlot (``static/vendor/uplot``,
MIT, licence beside it): no build step, nothing fetched from the network.
"""
