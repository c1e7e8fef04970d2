// The parts of Uppy picstore's upload widget uses, as one global: window.PicstoreUppy.
// Built by assets/uppy/build.sh into src/picstore/web/static/vendor/uppy/ (the output is committed).
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import AwsS3 from '@uppy/aws-s3'

window.PicstoreUppy = { Uppy, Dashboard, AwsS3 }
