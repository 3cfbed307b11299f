package events

import (
	"google.golang.org/protobuf/types/known/structpb"
)

// TransitionData is the data of a state change: the resource's name, the
// state it left and the state it reached (enum names, e.g. "STATE_OPEN").
func TransitionData(name, from, to string) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"name": structpb.NewStringValue(name), "previousState": structpb.NewStringValue(from), "state": structpb.NewStringValue(to),
	}}
}
