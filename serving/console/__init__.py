"""The web console for 督办 supervisors, analysts and intake staff: server-rendered pages over
the same queue, scoring and archive code as the API (``serving.console.app.create_console``)."""
