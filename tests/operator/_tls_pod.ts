/**
 * A test certificate authority and a server certificate it signed for the
 * pod name `op-2.raft.ops.svc.cluster.local` (valid until 2126), for the
 * tests that reach a pod by its fully qualified name over TLS. Tests only.
 *
 * @module
 */

/** The CA certificate (PEM): trust it in the child (`DENO_CERT`, `NODE_EXTRA_CA_CERTS`). */
export const CA_CERT: string = `-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUbEioVRfdqHe5XT06j/e94auiCoowCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUazhzLW9wZXJhdG9yIHRlc3QgQ0EwIBcNMjYxMjA1MTIyMjEz
WhgPMjEyNjExMTExMjIyMTNaMB8xHTAbBgNVBAMMFGs4cy1vcGVyYXRvciB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEM7bzIcqkbD9UEhQyWHcnuJXJ
KVcvxAeSU0+eWkfgFt09fvf6noKYoPYE7ktrAMC2s1/GcinqYI2aldAuGcqU9qNj
MGEwHQYDVR0OBBYEFBpVjLzIihNuYAOibC55ivQLL4Y0MB8GA1UdIwQYMBaAFBpV
jLzIihNuYAOibC55ivQLL4Y0MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
AgIEMAoGCCqGSM49BAMCA0gAMEUCID3arzzWlZmnA0hwNfnAg+v2e1CmIuqHOo3a
rKUfC7O/AiEAvmhj5N+d1ecvGpcSFjepnJMvd8JpndVtS/ssMLPUE9Y=
-----END CERTIFICATE-----
`;

/** The server certificate of `op-2.raft.ops.svc.cluster.local` (PEM). */
export const POD_CERT: string = `-----BEGIN CERTIFICATE-----
MIIB8DCCAZagAwIBAgIUX5zSwF8n4oZLExKKirR2KOs9+iQwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUazhzLW9wZXJhdG9yIHRlc3QgQ0EwIBcNMjYxMjA1MTIyMjE0
WhgPMjEyNjExMTExMjIyMTRaMCoxKDAmBgNVBAMMH29wLTIucmFmdC5vcHMuc3Zj
LmNsdXN0ZXIubG9jYWwwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQkWwdwAU+X
qSa000Eh/aiDmkT/aIKRNkLqjsx6xUOsJKRSF7oipQy8kDNFN+9P5eYWNG9rjqMk
bwiHJ7fb27z5o4GiMIGfMCoGA1UdEQQjMCGCH29wLTIucmFmdC5vcHMuc3ZjLmNs
dXN0ZXIubG9jYWwwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0l
BAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFMm6iPQ9Kdld+tptX3evwrb1vCGsMB8G
A1UdIwQYMBaAFBpVjLzIihNuYAOibC55ivQLL4Y0MAoGCCqGSM49BAMCA0gAMEUC
IGHQmHUYuiwDsAZLDmVtpmdF5v1uiYnNZv3rZ3m6Kt0OAiEA5C+dNILU3SnePwaD
WfiKeUUFSpU5sS7YuAcsZoiB64A=
-----END CERTIFICATE-----
`;

/** Its private key (PEM). */
export const POD_KEY: string = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgC1q99EZpmsv0DiBT
si0K6DeJhccpCqmAsalbhqLEYyOhRANCAAQkWwdwAU+XqSa000Eh/aiDmkT/aIKR
NkLqjsx6xUOsJKRSF7oipQy8kDNFN+9P5eYWNG9rjqMkbwiHJ7fb27z5
-----END PRIVATE KEY-----
`;
