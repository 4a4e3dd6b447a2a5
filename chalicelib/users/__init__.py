"""Onezone users.

- `accounts`: creating users (`POST /users`) and the bootstrap admin;
- `views`: what `GET /user` shows of a user;
- `oz_privileges`: Onezone admin privileges (`/users/{id}/privileges`).
"""
