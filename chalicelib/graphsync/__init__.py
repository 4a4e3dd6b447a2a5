"""The GraphSync provider channel (`wss://<zone>/graph_sync/provider`), over API Gateway's
WebSocket API: the connection Onedata's op-worker holds with its zone, and what it needs of it.

- `connections`: the transport - a connection's handle (its id and the `@connections` endpoint
  that reaches it), sending a message, closing;
- `channel`: what the WebSocket functions of `app.py` call for each connect, message and
  disconnect;
- `codec`: the envelope of protocol version 4 (requests, responses, pushes, errors, GRIs);
- `handshake`: the first message, the provider's root token verified on the `graphsync` interface;
- `requests`: a graph request routed to the entity it names, with its subscription;
- `provider`, `cluster`, `storage`, `token`: what a provider may ask of each entity;
- `online`: a provider's open connections, kept on its record, and their expiry;
- `pushes`: changes of providers, clusters and storages (DynamoDB Streams) to subscribed channels;
- `keepalive`: the scheduled push that keeps quiet channels open and drops dead ones.
"""
