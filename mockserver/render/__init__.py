"""Plan -> JSON | SSE: the blocking body, the event stream, the bytes Dify writes."""
