package main

import (
    reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func processCounter(context reflow.ActorContext) (reflow.ActorResult, error) {
    outputs := make(map[string]interface{})
    
    // Get current count from state using host function
    currentCount := int64(0)
    if stateValue, err := reflow.GetState("count"); err == nil && stateValue != nil {
        if countFloat, ok := stateValue.(float64); ok {
            currentCount = int64(countFloat)
        }
    }
    
    // Handle operations
    if operation, exists := context.Payload["operation"]; exists {
        if operation.Type == "String" {
            op := operation.Data.(string)
            
            switch op {
            case "increment":
                currentCount++
            case "decrement":
                currentCount--
            case "reset":
                currentCount = 0
            case "double":
                currentCount *= 2
            }
            
            // Save new count to state
            reflow.SetState("count", currentCount)
            
            outputs["value"] = reflow.NewIntegerMessage(currentCount).ToSerializable()
            outputs["operation"] = reflow.NewStringMessage(op).ToSerializable()
            
            // Send async output via host function
            asyncOutputs := map[string]interface{}{
                "status": "Processing complete",
                "count": currentCount,
            }
            reflow.SendOutput(asyncOutputs)
        }
    } else {
        // No operation, just return current count
        outputs["value"] = reflow.NewIntegerMessage(currentCount).ToSerializable()
    }
    
    // Update state
    newState := map[string]interface{}{
        "count": currentCount,
    }
    
    return reflow.ActorResult{
        Outputs: outputs,
        State:   newState,
    }, nil
}

func getMetadata() reflow.PluginMetadata {
    return reflow.PluginMetadata{
        Component:   "GoCounter",
        Description: "Stateful counter actor implemented in Go",
        Inports: []reflow.PortDefinition{
            reflow.NewOptionalPort("operation", "Operation to perform", "String"),
        },
        Outports: []reflow.PortDefinition{
            reflow.NewOptionalPort("value", "Current counter value", "Integer"),
            reflow.NewOptionalPort("operation", "Operation performed", "String"),
        },
        ConfigSchema: nil,
    }
}

func init() {
    reflow.RegisterPlugin(getMetadata(), processCounter)
}

// Export functions required by Extism
//go:wasmexport get_metadata
func get_metadata() int32 {
    return reflow.GetMetadata()
}

//go:wasmexport process
func process() int32 {
    return reflow.Process()
}

func main() {}
