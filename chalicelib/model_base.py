"""The base of every pydantic model here: validators and serializers built on first use.

pydantic builds a model's validator when the class is defined unless told to wait
(`defer_build`). Most requests land on a cold Lambda container and touch a handful of the
registry's ~45 models, so each builds only those (the rest cost a class definition each).

The registry uses no pydantic plugins. Unless told so, pydantic looks for them when it builds its
first model, by reading every installed distribution's entry points (`importlib.metadata`):
several milliseconds of each cold start. An operator who wants a plugin sets
`PYDANTIC_DISABLE_PLUGINS` themselves.
"""

import os

from pydantic import BaseModel, ConfigDict

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
