package main

// The IANA time zone database, built in (about 450 KB): digests run at "09:00 Europe/Berlin", and the binary
// must know that zone on a scratch image, on Windows and on any host without /usr/share/zoneinfo. The system's
// database still wins where there is one.
import _ "time/tzdata"
