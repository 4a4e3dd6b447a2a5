"""The GraphSync provider channel (`wss://<zone>/graph_sync/provider`), over API Gateway's
WebSocket API: the connection Onedata's op-worker holds with its zone.

- `connections`: the transport - a connection's handle (its id and the `@connections` endpoint
  that reaches it), sending a message, closing;
- `channel`: what the WebSocket functions of `app.py` call for each connect, message and
  disconnect.
"""
