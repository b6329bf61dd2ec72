module example.com/reflow/go-doubler

go 1.24

require github.com/darmie/reflow/reflow_wasm_go v0.0.0

require github.com/extism/go-pdk v1.1.3 // indirect

replace github.com/darmie/reflow/reflow_wasm_go => ../../../sdk/go
