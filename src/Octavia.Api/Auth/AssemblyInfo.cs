// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;

// Here rather than in Octavia.Api.csproj, which belongs to the API's owners.
[assembly: InternalsVisibleTo("Octavia.Api.Auth.Tests")]
