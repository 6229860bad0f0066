"""The use cases the JSON API, the Gradio app and the command line share: ``intake`` (register and
queue, uploads, retry), ``videos`` (a video, the library, moments, search hits), ``similar`` (find
similar), ``questions`` (ask), ``planning`` (probe, plan, describe a clip). Functions taking a
``Session`` never commit; those taking an ``Engine`` commit, then queue through the ``send``
callable the caller gives (this package never imports ``workers``)."""
