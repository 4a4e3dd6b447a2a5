"""The GraphSync provider channel (`wss://<zone>/graph_sync/provider`): what a stock op-worker
needs of its zone after registering, over API Gateway WebSockets.

- `codec`: the envelope of protocol version 4 (requests, responses, pushes, errors, GRIs);
- `handshake`: the first message, the provider's root token verified on the `graphsync` interface;
- `channel`: `$connect`, each message, `$disconnect` (what the WebSocket functions call);
- `requests`: a graph request routed to the entity it names, with its subscription;
- `provider`, `cluster`, `storage`, `token`: what a provider may ask of each entity;
- `online`: a provider's open connections, kept on its record, and their expiry;
- `pushes`: changes of providers, clusters and storages (DynamoDB Streams) to subscribed channels;
- `keepalive`: the scheduled push that keeps quiet channels open and drops dead ones.
`connections` (the transport's) posts to and closes a connection through `@connections`.
"""
