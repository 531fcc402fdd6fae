"use strict";
throw new Error("canvas is not installed: matrix-webhook-bridge overrides it with this stand-in because nothing it runs needs it (package.json, overrides)");
