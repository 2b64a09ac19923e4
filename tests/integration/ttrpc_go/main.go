// SPDX-License-Identifier: Apache-2.0
// Wire conformance: containerd's own Go ttrpc client (Debian's
// golang-github-containerd-ttrpc-dev) talks to teevaultd over its Unix socket.
//
// Usage: ttrpc-conformance SOCKET
// Env:   TV_TOKEN (optional) sent as "authorization: Bearer <token>".
//
// Payloads are hand-encoded with protowire (no generated Go code needed).
// Each check is one function in `checks`; Secrets.Get is added the same way
// once its handler exists (see checkSecretsGet).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// raw is a proto.Message whose wire bytes we encode/decode ourselves: gogo's
// proto.Marshal/Unmarshal use the Marshal/Unmarshal methods when present.
type raw struct{ b []byte }

func (m *raw) Reset()                   { m.b = nil }
func (m *raw) String() string           { return fmt.Sprintf("%x", m.b) }
func (*raw) ProtoMessage()              {}
func (m *raw) Marshal() ([]byte, error) { return m.b, nil }
func (m *raw) Unmarshal(b []byte) error { m.b = append([]byte(nil), b...); return nil }

// fields decodes a message into field number -> list of values
// (uint64 for varints, []byte for length-delimited).
func fields(b []byte) (map[protowire.Number][]interface{}, error) {
	out := map[protowire.Number][]interface{}{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			out[num] = append(out[num], v)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			out[num] = append(out[num], append([]byte(nil), v...))
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return out, nil
}

func str(f map[protowire.Number][]interface{}, n protowire.Number) string {
	if v, ok := f[n]; ok {
		return string(v[0].([]byte))
	}
	return ""
}

func u64(f map[protowire.Number][]interface{}, n protowire.Number) uint64 {
	if v, ok := f[n]; ok {
		return v[0].(uint64)
	}
	return 0
}

type env struct {
	client *ttrpc.Client
	ctx    context.Context
}

func (e *env) call(service, method string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	var resp raw
	err := e.client.Call(ctx, service, method, &raw{b: req}, &resp)
	return resp.b, err
}

func checkStatus(e *env) error {
	p, err := e.call("teevault.v1.Sys", "Status", nil)
	if err != nil {
		return err
	}
	f, err := fields(p)
	if err != nil {
		return fmt.Errorf("StatusResponse does not decode: %v", err)
	}
	if v := str(f, 2); v == "" {
		return fmt.Errorf("empty version")
	}
	if b := str(f, 3); b != "sim" {
		return fmt.Errorf("tee_backend = %q, want sim", b)
	}
	if u64(f, 4) != 0 {
		return fmt.Errorf("sim backend reports hardware_protected")
	}
	if str(f, 5) == "" {
		return fmt.Errorf("sim backend without a warning")
	}
	fmt.Printf("ok   Sys.Status: version=%s backend=%s initialized=%d\n", str(f, 2), str(f, 3), u64(f, 1))
	return nil
}

func checkHealth(e *env) error {
	p, err := e.call("teevault.v1.Sys", "Health", nil)
	if err != nil {
		return err
	}
	f, err := fields(p)
	if err != nil {
		return err
	}
	st := str(f, 2)
	if st != "active" && st != "uninitialized" && st != "sealed" {
		return fmt.Errorf("Health state %q", st)
	}
	fmt.Printf("ok   Sys.Health: state=%s\n", st)
	return nil
}

func checkUnknown(e *env) error {
	_, err := e.call("teevault.v1.Nope", "Nothing", nil)
	if status.Code(err) != codes.Unimplemented {
		return fmt.Errorf("unknown service: got %v, want Unimplemented", err)
	}
	_, err = e.call("teevault.v1.Sys", "Status", []byte{0xff, 0xff})
	if status.Code(err) != codes.InvalidArgument {
		return fmt.Errorf("undecodable payload: got %v, want InvalidArgument", err)
	}
	fmt.Println("ok   unknown method -> Unimplemented, bad payload -> InvalidArgument")
	return nil
}

// Many calls in flight on the one connection (the Go client multiplexes).
func checkConcurrent(e *env) error {
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.call("teevault.v1.Sys", "Health", nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return fmt.Errorf("concurrent call: %v", err)
	}
	fmt.Println("ok   200 concurrent calls on one connection")
	return nil
}

// Secrets.Get: enabled when TV_GET_NAME and TV_GET_VALUE_FILE are set (needs a
// token in TV_TOKEN and the secret put beforehand). GetRequest{name = 1,
// version = 2}; GetResponse{name = 1, version = 2, value = 3}.
func checkSecretsGet(e *env) error {
	name, file := os.Getenv("TV_GET_NAME"), os.Getenv("TV_GET_VALUE_FILE")
	if name == "" || file == "" {
		fmt.Println("skip Secrets.Get (TV_GET_NAME / TV_GET_VALUE_FILE not set)")
		return nil
	}
	want, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	req := protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendString(req, name)
	p, err := e.call("teevault.v1.Secrets", "Get", req)
	if err != nil {
		return err
	}
	f, err := fields(p)
	if err != nil {
		return err
	}
	if got := str(f, 1); got != name {
		return fmt.Errorf("Secrets.Get name = %q, want %q", got, name)
	}
	if u64(f, 2) == 0 {
		return fmt.Errorf("Secrets.Get returned version 0")
	}
	if got := str(f, 3); got != string(want) {
		return fmt.Errorf("Secrets.Get(%q) value mismatch (len %d, want len %d)", name, len(got), len(want))
	}
	// A name that does not exist is NotFound.
	req = protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendString(req, name+"-missing")
	if _, err := e.call("teevault.v1.Secrets", "Get", req); status.Code(err) != codes.NotFound {
		return fmt.Errorf("Secrets.Get of a missing name: got %v, want NotFound", err)
	}
	fmt.Printf("ok   Secrets.Get(%q): version %d, %d bytes\n", name, u64(f, 2), len(want))
	return nil
}

var checks = []struct {
	name string
	fn   func(*env) error
}{
	{"status", checkStatus},
	{"health", checkHealth},
	{"unknown", checkUnknown},
	{"concurrent", checkConcurrent},
	{"secrets_get", checkSecretsGet},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-conformance SOCKET")
		os.Exit(2)
	}
	conn, err := net.DialTimeout("unix", os.Args[1], 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	ctx := context.Background()
	if tok := os.Getenv("TV_TOKEN"); tok != "" {
		ctx = ttrpc.WithMetadata(ctx, ttrpc.MD{"authorization": []string{"Bearer " + tok}})
	}
	e := &env{client: client, ctx: ctx}
	failed := 0
	for _, c := range checks {
		if err := c.fn(e); err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			failed++
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
