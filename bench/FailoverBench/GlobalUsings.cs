// Licensed under the Apache License, Version 2.0.

global using static Octavia.Tests.Shared.TestEnvironment;
