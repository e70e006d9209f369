// Package grant is the vocabulary of what a CineGit service may be granted: the actions and
// the buckets they name. The configuration validates against it and the services component
// turns it into IAM statements; it is its own package so that validation does not link the
// component (and with it the Kubernetes and AWS SDKs).
package grant

// The actions a service may be granted. Nothing else is accepted.
const (
	// ReadBucket reads (GetObject, ListBucket) one bucket: media, proxies or thumbnails.
	ReadBucket = "readBucket"
	// WriteBucket writes (PutObject, multipart) one bucket.
	WriteBucket = "writeBucket"
	// PresignUpload signs upload URLs for the media bucket's originals prefix: the URL carries
	// the signer's permissions, so the role may put objects there and nothing more.
	PresignUpload = "presignUpload"
	// ReadProxies and ReadThumbnails read the derived media.
	ReadProxies    = "readProxies"
	ReadThumbnails = "readThumbnails"
	// ConnectDatabase connects to PostgreSQL as one IAM-authenticated database user.
	ConnectDatabase = "connectDatabase"
	// ReadSecret syncs one named secret into the service's namespace (External Secrets).
	ReadSecret = "readSecret"
	// SendMediaQueue sends messages to the media processing queue.
	SendMediaQueue = "sendMediaQueue"
)

// Actions lists every known action, sorted.
var Actions = []string{ConnectDatabase, PresignUpload, ReadBucket, ReadProxies, ReadSecret, ReadThumbnails, SendMediaQueue, WriteBucket}

// Buckets a ReadBucket or WriteBucket permission may name.
const (
	MediaBucket      = "media"
	ProxiesBucket    = "proxies"
	ThumbnailsBucket = "thumbnails"
)
