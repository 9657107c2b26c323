package memory

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// TestClonesAreDeep fills every field of each record by reflection, clones
// it, and checks that the clone is equal and shares no slice, map or
// pointer with the original. A field added to a record later is filled
// too, so a clone function that forgets it fails here.
func TestClonesAreDeep(t *testing.T) {
	cases := []struct {
		name  string
		orig  any
		clone func(any) any
	}{
		{"PolicyRecord", &engine.PolicyRecord{}, func(v any) any { return clonePolicyRecord(v.(*engine.PolicyRecord)) }},
		{"Session", &engine.Session{}, func(v any) any { return cloneSession(v.(*engine.Session)) }},
		{"Unit", &engine.Unit{}, func(v any) any { return cloneUnit(v.(*engine.Unit)) }},
		{"Task", &engine.Task{}, func(v any) any { return cloneTask(v.(*engine.Task)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			fill(reflect.ValueOf(tc.orig).Elem(), &n)
			c := tc.clone(tc.orig)
			if !reflect.DeepEqual(tc.orig, c) {
				t.Fatalf("clone differs:\n%+v\n%+v", tc.orig, c)
			}
			if shared := sharedRefs(reflect.ValueOf(tc.orig), reflect.ValueOf(c), tc.name); len(shared) > 0 {
				t.Fatalf("clone shares memory with the original at %v", shared)
			}
		})
	}
}

var timeType = reflect.TypeFor[time.Time]()

// fill gives every settable field a distinct non-zero value: slices get two
// elements, pointers a target, maps two entries.
func fill(v reflect.Value, n *int) {
	*n++
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2025, 1, 1, 0, 0, *n, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, n)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " at " + v.Type().String())
	}
}

// sharedRefs lists the paths at which a and b hold the same slice array,
// map or pointer target.
func sharedRefs(a, b reflect.Value, path string) []string {
	if a.Type() == timeType {
		return nil // immutable; its *Location is meant to be shared
	}
	var out []string
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() && path != "" {
			out = append(out, path)
		}
		out = append(out, sharedRefs(a.Elem(), b.Elem(), path)...)
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for i := range a.Len() {
			out = append(out, sharedRefs(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for _, k := range a.MapKeys() {
			out = append(out, sharedRefs(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k))...)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				out = append(out, sharedRefs(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
			}
		}
	}
	return out
}

// TestCloneTaskShapes covers the shapes cloneTask packs into one
// allocation (at most one schedule, one copy or none) next to the general
// one: the clone is equal, shares nothing, keeps nil slices nil, and an
// append to a cloned slice cannot write into the clone's other parts.
func TestCloneTaskShapes(t *testing.T) {
	var full engine.Task
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	cut := func(schedules, copies int) *engine.Task {
		c := full
		c.Lifecycle = &engine.Lifecycle{MoveToColdStorageAfterDays: 1, DeleteAfterDays: 2}
		c.Schedules = slices.Clone(full.Schedules[:max(schedules, 0)])
		c.Copies = slices.Clone(full.Copies[:max(copies, 0)])
		if schedules < 0 {
			c.Schedules = nil
		}
		if copies < 0 {
			c.Copies = nil
			c.Lifecycle = nil
		}
		return &c
	}
	for _, shape := range [][2]int{{1, 1}, {0, 1}, {-1, 1}, {1, 0}, {-1, -1}, {0, 0}, {2, 1}, {1, 2}, {2, 2}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			orig := cut(shape[0], shape[1])
			c := cloneTask(orig)
			if !reflect.DeepEqual(orig, c) {
				t.Fatalf("clone differs:\n%+v\n%+v", orig, c)
			}
			if shared := sharedRefs(reflect.ValueOf(orig), reflect.ValueOf(c), "Task"); len(shared) > 0 {
				t.Fatalf("clone shares memory with the original at %v", shared)
			}
			if (orig.Schedules == nil) != (c.Schedules == nil) || (orig.Copies == nil) != (c.Copies == nil) {
				t.Fatalf("nil slices differ: schedules %v/%v, copies %v/%v", orig.Schedules == nil, c.Schedules == nil, orig.Copies == nil, c.Copies == nil)
			}
			if cap(c.Schedules) != len(c.Schedules) || cap(c.Copies) != len(c.Copies) {
				t.Fatalf("clone's slices have spare capacity: schedules %d/%d, copies %d/%d", len(c.Schedules), cap(c.Schedules), len(c.Copies), cap(c.Copies))
			}
		})
	}
}
