"use strict";
throw new Error("sqlite3 is not installed: matrix-webhook-bridge overrides it with this stand-in because nothing it runs needs it (package.json, overrides)");
