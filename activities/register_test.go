package activities_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
)

// Register registers Send and DescribeEndpoint under their constants, the
// names that recorded histories and the history reader use, and nothing
// else: the other exported methods of Activities are not activities.
func TestRegisterByName(t *testing.T) {
	if activities.SendActivity != "Send" || activities.DescribeEndpointActivity != "DescribeEndpoint" {
		t.Fatalf("activity names %q and %q: recorded histories name them Send and DescribeEndpoint", activities.SendActivity, activities.DescribeEndpointActivity)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	activities.Register(env, &activities.Activities{Endpoint: record.Endpoint{BaseURL: "http://sim.invalid/v1", Label: "sim"}})
	val, err := env.ExecuteActivity(activities.DescribeEndpointActivity, activities.DescribeInput{})
	if err != nil {
		t.Fatalf("%s by name: %v", activities.DescribeEndpointActivity, err)
	}
	var ep record.Endpoint
	if err := val.Get(&ep); err != nil || ep.Name != record.DefaultEndpoint || ep.Label != "sim" {
		t.Errorf("%s = %+v, %v; want the default endpoint labelled sim", activities.DescribeEndpointActivity, ep, err)
	}
	if _, err := env.ExecuteActivity(activities.SendActivity, activities.SendInput{}); err == nil || !strings.Contains(err.Error(), "no OpenAI client") {
		t.Errorf("%s by name: err = %v, want the activity's own error (no OpenAI client)", activities.SendActivity, err)
	}
	for _, name := range []string{"EndpointNames", "CloseIdleConnections"} {
		if _, err := env.ExecuteActivity(name); err == nil {
			t.Errorf("%s ran as an activity", name)
		}
	}
}
