//go:build !(wasm || tinygo.wasm)

package reflow

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/e2e/*.expected.json from the current run")

// The example plugins, built for wasip1 and run through testdata/minihost.mjs (a small
// stand-in for the Reflow host, on Node's WASI), give the transcripts in testdata/e2e:
// metadata, outputs, __send_output messages, errors and state across calls. Skipped with
// -short or outside the repository; without node it fails (the suite needs Node.js anyway,
// and a missing tool must not turn into a silent pass).
func TestExamplePluginsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm: skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found on PATH: install Node.js >= 18, or run with -short to leave out this test")
	}
	goTool := goCommand(t)
	for _, name := range []string{"counter", "greeter"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "..", "examples", "go", name)
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
				t.Skip("example not found:", err)
			}
			wasm := filepath.Join(t.TempDir(), name+".wasm")
			build := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", wasm, ".")
			build.Dir = dir
			build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=readonly")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			run := exec.Command(node, "--no-warnings", filepath.Join("testdata", "minihost.mjs"), wasm,
				filepath.Join("testdata", "e2e", name+".steps.json"))
			run.Stderr = os.Stderr
			got, err := run.Output()
			if err != nil {
				t.Fatalf("minihost: %v", err)
			}
			expected := filepath.Join("testdata", "e2e", name+".expected.json")
			if *update {
				if err := os.WriteFile(expected, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(expected)
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, string(got), string(want))
		})
	}
}

func goCommand(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Skip("go command not found")
	return ""
}
