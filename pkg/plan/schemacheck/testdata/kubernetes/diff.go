// Fixture: the shape of pulumi-kubernetes' provider/pkg/provider/diff.go.
package provider

func (k *kubeProvider) forceNewProperties(obj *unstructured.Unstructured) []string {
	props := metadataForceNewProperties(".metadata")
	if group, groupExists := forceNew[gvk.Group]; groupExists {
		if version, versionExists := group[gvk.Version]; versionExists {
			if clients.IsSecret(obj) && (!k.enableSecretMutable || clients.IsImmutable(obj)) {
				props = append(props, properties{".type", ".data"}...)
			} else if kindFields, kindExists := version[gvk.Kind]; kindExists {
				props = append(props, kindFields...)
			}
		}
	}
	return props
}

var forceNew = _groups{
	"core": core,
	"storage.k8s.io": _versions{
		"v1": _kinds{"StorageClass": properties{".parameters", ".provisioner"}},
	},
	"batch": _versions{"v1": _kinds{"Job": job}},
}

var core = _versions{"v1": _kinds{"ResourceQuota": properties{".spec.scopes"}}}

var job = append(properties{".spec.template"}, labelSelectorForceNewProperties(".spec.selector")...)

func diff() {
	forceNewFields := []string{".metadata.name", ".metadata.namespace"}
	_ = forceNewFields
}
