// SPDX-License-Identifier: Apache-2.0
// etcd_bench: the etcd side of scripts/bench-compare.sh. Debian's etcd
// packages do not ship etcd's own `benchmark` tool, so this is a small
// equivalent built against Debian's clientv3 (golang-etcd-server-dev,
// GOPATH mode). Each of N goroutines has its own clientv3.Client (its own
// gRPC connection, like teevault-bench's one connection per thread) and
// issues blocking Get (linearizable, etcd's default) or Put requests of
// --value-size bytes; per-request latency is measured with the monotonic
// clock. Prints one JSON object with the same keys as teevault-bench.
//
//	etcd_bench --endpoint 127.0.0.1:PORT --op get|put --connections N
//	           --requests M --value-size BYTES
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd client URL host:port")
	op := flag.String("op", "get", "get or put")
	conns := flag.Int("connections", 1, "concurrent clients, one connection each")
	requests := flag.Int("requests", 10000, "total measured requests")
	size := flag.Int("value-size", 64, "value size in bytes")
	keys := flag.Int("keys", 0, "distinct keys (default min(4*connections, 256), like teevault-bench)")
	flag.Parse()
	if *keys == 0 {
		*keys = 4 * *conns
		if *keys > 256 {
			*keys = 256
		}
	}
	if *conns < 1 || *conns > 1024 || *requests < *conns || *size < 0 || *keys < 1 ||
		(*op != "get" && *op != "put") {
		fmt.Fprintln(os.Stderr, "etcd_bench: bad arguments")
		os.Exit(2)
	}
	val := make([]byte, *size)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	clients := make([]*clientv3.Client, *conns)
	for i := range clients {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint},
			DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd_bench: connect:", err)
			os.Exit(1)
		}
		defer c.Close()
		clients[i] = c
	}
	ctx := context.Background()
	// Prepare the Get working set.
	for k := 0; *op == "get" && k < *keys; k++ {
		if _, err := clients[0].Put(ctx, fmt.Sprintf("bench/k%06d", k), string(val)); err != nil {
			fmt.Fprintln(os.Stderr, "etcd_bench: prepare:", err)
			os.Exit(1)
		}
	}
	run := func(per int, lat [][]time.Duration) int {
		var wg sync.WaitGroup
		errs := make([]int, *conns)
		for i := 0; i < *conns; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := clients[i]
				for j := 0; j < per; j++ {
					key := fmt.Sprintf("bench/k%06d", (i*per+j)%*keys)
					t0 := time.Now()
					var err error
					if *op == "get" {
						var r *clientv3.GetResponse
						r, err = c.Get(ctx, key)
						if err == nil && len(r.Kvs) != 1 {
							err = fmt.Errorf("missing key")
						}
					} else {
						_, err = c.Put(ctx, key, string(val))
					}
					if lat != nil {
						lat[i] = append(lat[i], time.Since(t0))
					}
					if err != nil {
						errs[i]++
					}
				}
			}(i)
		}
		wg.Wait()
		n := 0
		for _, e := range errs {
			n += e
		}
		return n
	}
	warm := *requests / 10
	if warm < *conns {
		warm = *conns
	}
	run(warm / *conns, nil)
	per := *requests / *conns
	lat := make([][]time.Duration, *conns)
	for i := range lat {
		lat[i] = make([]time.Duration, 0, per)
	}
	t0 := time.Now()
	nerr := run(per, lat)
	el := time.Since(t0).Seconds()
	all := make([]time.Duration, 0, per**conns)
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		i := int(p*float64(len(all))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(all) {
			i = len(all) - 1
		}
		return float64(all[i].Nanoseconds()) / 1e3
	}
	out := map[string]interface{}{
		"op": *op, "connections": *conns, "requests": len(all),
		"ops_per_sec": float64(len(all)-nerr) / el,
		"p50_us":      pct(0.50), "p99_us": pct(0.99), "p999_us": pct(0.999), "errors": nerr,
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	if nerr > 0 {
		os.Exit(1)
	}
}
