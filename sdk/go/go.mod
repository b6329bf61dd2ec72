module github.com/darmie/reflow/reflow_wasm_go

go 1.24

require github.com/extism/go-pdk v1.1.3
