"""The JSON API's types: request bodies, response shapes and error codes (published in /openapi.json)."""
