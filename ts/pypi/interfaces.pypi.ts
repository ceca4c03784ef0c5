/** What a release says about itself: the core-metadata fields twine sends with each upload. */
export interface IPypiReleaseInfo {
  name: string;
  version: string;
  summary?: string;
  description?: string;
  description_content_type?: string;
  author?: string;
  author_email?: string;
  maintainer?: string;
  maintainer_email?: string;
  license?: string;
  keywords?: string;
  home_page?: string;
  download_url?: string;
  platform?: string;
  requires_python?: string;
  classifiers: string[];
  requires_dist: string[];
  provides_extra: string[];
  /** `Label, URL` pairs as sent. */
  project_urls: string[];
}

export interface IPypiDigests {
  sha256: string;
  md5: string;
  blake2b_256: string;
}

/** One uploaded distribution file. */
export interface IPypiFile {
  filename: string;
  /** The release key (canonical PEP 440 version) this file belongs to. */
  release: string;
  packagetype: 'bdist_wheel' | 'sdist';
  /** twine's `pyversion` (`py3`, `source`). */
  python_version: string;
  requires_python?: string;
  size: number;
  digests: IPypiDigests;
  /** ISO 8601, UTC. */
  upload_time: string;
  /** The file's bytes live under this id (unique per upload, so a duplicate never overwrites). */
  storage_id: string;
  /** sha256 of the PEP 658 metadata file (the wheel's METADATA), when there is one. */
  metadata_sha256?: string;
}

export interface IPypiRelease {
  info: IPypiReleaseInfo;
  /** ISO 8601 of the first upload. */
  created: string;
  /** PEP 592: yanked releases are skipped by installers unless pinned exactly. */
  yanked?: { reason: string };
}

/** The truth of one project (`project.json`); every index form is rendered from it. */
export interface IPypiProject {
  /** The name as first uploaded; its normalised form is the storage key. */
  name: string;
  /** By canonical version. */
  releases: Record<string, IPypiRelease>;
  /** By filename. */
  files: Record<string, IPypiFile>;
  /** Counts every change, for the JSON API's `last_serial`. */
  serial: number;
}

export interface IPypiSearchEntry {
  name: string;
  version: string;
  summary: string;
  keywords: string;
  /** The project's serial the entry was made from. */
  serial: number;
}

export type TSimpleFormat = 'json' | 'html-v1' | 'text-html';
