package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// allowedHosts are the host names a server listening on addr answers for
// (handlers.Config.AllowedHosts), whatever the port:
//
//   - the host of publicURL, the address people use, when it is given;
//   - on a loopback address, the loopback names too (and that address), so
//     http://localhost:8080 and http://127.0.0.1:8080 both work;
//   - on any other address without publicURL, only what cannot be an
//     attacker's name: the loopback names when the address covers them
//     (0.0.0.0, ::), and the address itself, or every address of this
//     machine for a wildcard. warning then says that host names are
//     refused until --public-url names one: refusing to start would break
//     a container's quick start; answering every name would leave DNS
//     rebinding open.
//
// localIPs lists this machine's addresses; it is asked only for a wildcard.
func allowedHosts(addr, publicURL string, localIPs func() ([]net.IP, error)) (hosts []string, warning string, err error) {
	bound, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", usageError{fmt.Sprintf("--addr %q: %v", addr, err)}
	}
	if publicURL != "" {
		host, err := publicHost(publicURL)
		if err != nil {
			return nil, "", err
		}
		hosts = append(hosts, host)
	}
	// The names of this machine that no one else can point anywhere: a
	// page under one of them is not an attacker's.
	loopback := []string{"localhost", "127.0.0.1", "::1"}
	if isLoopback(addr) {
		return unique(append(append(hosts, loopback...), bound)), "", nil
	}
	if publicURL != "" {
		return hosts, "", nil
	}

	ip := net.ParseIP(bound)
	switch {
	case bound == "" || ip.IsUnspecified():
		ips, err := localIPs()
		if err != nil {
			return nil, "", fmt.Errorf("list this machine's addresses: %w", err)
		}
		hosts = append(hosts, loopback...)
		for _, ip := range ips {
			hosts = append(hosts, ip.String())
		}
	default:
		hosts = append(hosts, bound) // an address, or a name given to --addr
	}
	hosts = unique(hosts)
	warning = fmt.Sprintf("no --public-url (KEYDESK_PUBLIC_URL) for --addr %s: only requests addressed to %s are answered, "+
		"any other host name gets 421; set --public-url to the URL people use", addr, strings.Join(hosts, ", "))
	return hosts, warning, nil
}

// publicHost is the host of --public-url, which must be an http or https
// origin: Keydesk serves from the root.
func publicHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", usageError{fmt.Sprintf("--public-url %q: give the URL people reach Keydesk at, such as https://keys.example.com", raw)}
	}
	return u.Hostname(), nil
}

// interfaceIPs lists the addresses of this machine's network interfaces.
func interfaceIPs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}

// unique drops repeats, keeping the first of each.
func unique(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
