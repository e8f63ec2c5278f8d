//! SIP: the OPTIONS trunk prober (rsip over UDP) and a carrier simulator (ezk) for tests and benches.
