package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"wsbridge/upgrade/cluster"
)

// cluster checks the --cluster flags and returns the cluster's
// configuration, its name defaulting to clusterName's.
func (c *cli) cluster() (cluster.Config, error) {
	for _, u := range strings.Split(c.Cluster, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil || parsed.Host == "" || !validClusterScheme[parsed.Scheme] {
			return cluster.Config{}, fmt.Errorf("--cluster=%s: want nats://HOST:PORT (or tls://, ws://, wss://), comma-separated for many", c.Cluster)
		}
	}
	for flag, file := range map[string]string{"--cluster-creds": c.ClusterCreds, "--cluster-tls-ca": c.ClusterTLSCA} {
		if file == "" {
			continue
		}
		if _, err := os.ReadFile(file); err != nil {
			return cluster.Config{}, fmt.Errorf("%s: %w", flag, err)
		}
	}
	name := c.ClusterName
	if name == "" {
		name = c.clusterName()
	}
	return cluster.Config{URL: c.Cluster, Name: name, CredsFile: c.ClusterCreds, TLSCA: c.ClusterTLSCA}, nil
}

// validClusterScheme holds the URL schemes of NATS servers.
var validClusterScheme = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

// clusterName is the default --cluster-name: the COMMAND and its
// arguments as given (or --dir=DIR), each quoted, and the flags that
// change what a program reads and writes (--binary, --raw-stdin,
// --passstderr). Instances started with one command line share their
// programs; another command or another framing makes another service.
func (c *cli) clusterName() string {
	var parts []string
	if c.Dir != "" {
		parts = append(parts, "--dir="+strconv.Quote(c.Dir))
	}
	for _, arg := range c.Command {
		parts = append(parts, strconv.Quote(arg))
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"--binary", c.Binary}, {"--raw-stdin", c.RawStdin}, {"--passstderr", c.PassStderr}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	return strings.Join(parts, " ")
}
