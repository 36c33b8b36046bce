// Package netid reads a Windows guest's network identity offline, from its
// SYSTEM hive: every network adapter the guest had, its driver and Plug and
// Play id, its connection name, and its TCP/IP settings (static or DHCP,
// IPv4 and IPv6), and tells which adapters were already ghosts when the
// guest was shut down. It only reads; what it finds is carried to the new
// NIC at first boot by core/firstboot.
//
// Where Windows keeps each fact, and the ghost rule, are in
// docs/NETWORK-IDENTITY.md.
package netid
