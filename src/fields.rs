//! Which event fields the rule reads, and how an event's values are picked from them.
//!
//! Events reach the command from many sources: the CIM Endpoint data model (`process_name`,
//! `process`, `dest`, `user`), raw Sysmon (`Image`, `CommandLine`, `Computer`, `User`),
//! Security 4688 (`NewProcessName`, or `New_Process_Name` in classic WinEventLog, and
//! `SubjectUserName`), Splunk's own analytics schema
//! (`dest_device_id`, `dest_user_id`) and exports such as OTRF's (`Hostname`). For each
//! role the first non-empty field wins, so one search can mix sources.

/// Field names (or, once resolved against a header, column positions) for each role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles<K> {
    /// Process names compared whole, as the published rule compares `process_name`.
    pub process_name: Vec<K>,
    /// Image paths, whose last path component is the process name.
    pub image: Vec<K>,
    /// Command lines.
    pub cmd_line: Vec<K>,
    /// The device the process ran on.
    pub dest: Vec<K>,
    /// The account that ran it.
    pub user: Vec<K>,
    /// The PE header's original file name, which survives renaming the executable.
    pub original_file_name: Vec<K>,
}

/// The field names to read, as configured by the command's options.
pub type FieldMap = Roles<String>;

/// Column positions of a [`FieldMap`] within one CSV header.
pub type Columns = Roles<usize>;

/// The values of one event that the rule and the annotation need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// Process name: a whole `process_name` value or the basename of an image path.
    pub process_name: Option<&'a [u8]>,
    /// The command line.
    pub cmd_line: Option<&'a [u8]>,
    /// The device.
    pub dest: Option<&'a [u8]>,
    /// The user.
    pub user: Option<&'a [u8]>,
    /// The original file name from the PE header.
    pub original_file_name: Option<&'a [u8]>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Default for FieldMap {
    fn default() -> Self {
        Roles {
            process_name: names(&["process_name"]),
            image: names(&[
                "Image",
                "NewProcessName",
                "New_Process_Name",
                "process_path",
            ]),
            cmd_line: names(&["process", "cmd_line", "CommandLine", "Process_Command_Line"]),
            dest: names(&["dest_device_id", "dest", "Computer", "Hostname", "host"]),
            user: names(&["dest_user_id", "user", "User", "SubjectUserName"]),
            original_file_name: names(&["original_file_name", "OriginalFileName"]),
        }
    }
}

impl FieldMap {
    /// Reads the process name from this one field only. Its basename is taken, so the
    /// field may hold a bare name or a full image path.
    pub fn set_process_name(&mut self, field: &str) {
        self.process_name.clear();
        self.image = vec![field.to_string()];
    }

    /// Every field name the roles read, once each, in role order: what the command asks
    /// splunkd for in `required_fields`. The original file name is read only by rules
    /// that use it.
    pub fn names(&self, original_file_name: bool) -> Vec<&str> {
        let lists = self.lists();
        let used = if original_file_name {
            &lists[..]
        } else {
            &lists[..5]
        };
        let mut out: Vec<&str> = Vec::new();
        for name in used.iter().copied().flatten() {
            if !out.contains(&name.as_str()) {
                out.push(name);
            }
        }
        out
    }

    /// Finds each named field with `position`; fields that are absent are left out.
    pub fn resolve(&self, position: impl Fn(&str) -> Option<usize>) -> Columns {
        self.filter_map(|name| position(name))
    }
}

impl Columns {
    /// The columns any role reads, once each in ascending order, and the same roles
    /// renumbered to positions in that list: a row's values can then be gathered into a
    /// short array and found by position, without searching.
    pub fn compact(&self) -> (Vec<usize>, Columns) {
        let mut used: Vec<usize> = self.lists().into_iter().flatten().copied().collect();
        used.sort_unstable();
        used.dedup();
        let renumbered = self.filter_map(|i| Some(used.partition_point(|&u| u < *i)));
        (used, renumbered)
    }

    /// Marks in `read` the columns whose values [`Roles::event`] will look at, given which
    /// columns are empty: for each role, those up to its first non-empty one. The rest are
    /// never read, so a caller need not decode them.
    pub fn mark_read(&self, is_empty: impl Fn(usize) -> bool, read: &mut [bool]) {
        for list in self.lists() {
            for &k in list {
                read[k] = true;
                if !is_empty(k) {
                    break;
                }
            }
        }
    }
}

impl<K> Roles<K> {
    /// The same roles with each key replaced by `f`'s value, or left out where it is `None`.
    fn filter_map<T>(&self, f: impl Fn(&K) -> Option<T>) -> Roles<T> {
        let all = |list: &[K]| list.iter().filter_map(&f).collect();
        Roles {
            process_name: all(&self.process_name),
            image: all(&self.image),
            cmd_line: all(&self.cmd_line),
            dest: all(&self.dest),
            user: all(&self.user),
            original_file_name: all(&self.original_file_name),
        }
    }

    fn lists(&self) -> [&Vec<K>; 6] {
        [
            &self.process_name,
            &self.image,
            &self.cmd_line,
            &self.dest,
            &self.user,
            &self.original_file_name,
        ]
    }

    /// The keys that [`Roles::process_name`] looks at.
    pub fn process_keys(&self) -> impl Iterator<Item = &K> {
        self.process_name.iter().chain(&self.image)
    }

    /// Picks an event's process name, `get` returning the value stored under a key.
    pub fn process_name<'a>(&self, get: impl Fn(&K) -> Option<&'a [u8]>) -> Option<&'a [u8]> {
        let first = |keys| first_value(keys, &get);
        first(&self.process_name).or_else(|| first(&self.image).map(basename))
    }

    /// Picks an event's values, `get` returning the value stored under a key.
    pub fn event<'a>(&self, get: impl Fn(&K) -> Option<&'a [u8]>) -> Event<'a> {
        let first = |keys| first_value(keys, &get);
        Event {
            process_name: self.process_name(&get),
            cmd_line: first(&self.cmd_line),
            dest: first(&self.dest),
            user: first(&self.user),
            original_file_name: first(&self.original_file_name),
        }
    }
}

/// The first non-empty value under `keys`: a role takes its first field that has one.
fn first_value<'a, K>(keys: &[K], get: impl Fn(&K) -> Option<&'a [u8]>) -> Option<&'a [u8]> {
    keys.iter().filter_map(get).find(|v| !v.is_empty())
}

/// The last component of a Windows or POSIX path.
pub fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'\\' || b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&String) -> Option<&'a [u8]> {
        move |k: &String| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_bytes())
        }
    }

    #[test]
    fn first_non_empty_field_wins() {
        let map = FieldMap::default();
        let pairs = [
            ("process", ""),
            ("CommandLine", "reg save HKLM\\SAM x"),
            ("dest", "ws1"),
            ("host", "ignored"),
            ("User", "CORP\\ann"),
        ];
        let ev = map.event(lookup(&pairs));
        assert_eq!(ev.cmd_line, Some(&b"reg save HKLM\\SAM x"[..]));
        assert_eq!(ev.dest, Some(&b"ws1"[..]));
        assert_eq!(ev.user, Some(&b"CORP\\ann"[..]));
        assert_eq!(ev.process_name, None);
    }

    #[test]
    fn process_name_is_whole_but_image_is_reduced_to_its_basename() {
        let map = FieldMap::default();
        let whole = [
            ("process_name", "C:\\Windows\\reg.exe"),
            ("Image", "x\\cmd.exe"),
        ];
        assert_eq!(
            map.event(lookup(&whole)).process_name,
            Some(&b"C:\\Windows\\reg.exe"[..])
        );
        let image = [("Image", "C:\\Windows\\System32\\reg.exe")];
        assert_eq!(
            map.event(lookup(&image)).process_name,
            Some(&b"reg.exe"[..])
        );
        let posix = [("process_path", "/usr/bin/reg.exe")];
        assert_eq!(
            map.event(lookup(&posix)).process_name,
            Some(&b"reg.exe"[..])
        );
    }

    #[test]
    fn an_override_reads_one_field_and_takes_its_basename() {
        let mut map = FieldMap::default();
        map.set_process_name("proc");
        let pairs = [("process_name", "reg.exe"), ("proc", "D:\\tools\\REG.EXE")];
        assert_eq!(
            map.event(lookup(&pairs)).process_name,
            Some(&b"REG.EXE"[..])
        );
        assert_eq!(map.names(false)[0], "proc");
    }

    #[test]
    fn names_lists_each_field_once() {
        let map = FieldMap {
            dest: vec!["process".into()],
            ..FieldMap::default()
        };
        let names = map.names(true);
        assert_eq!(names.iter().filter(|n| **n == "process").count(), 1);
        assert!(names.contains(&"OriginalFileName"));
        assert!(!map.names(false).contains(&"OriginalFileName"));
    }

    #[test]
    fn compact_renumbers_columns_to_positions_in_the_used_list() {
        let header = ["x", "CommandLine", "Image", "y", "process", "User"];
        let cols = FieldMap::default().resolve(|n| header.iter().position(|h| *h == n));
        let (used, compact) = cols.compact();
        assert_eq!(used, [1, 2, 4, 5]);
        assert_eq!(compact.cmd_line, [2, 0]);
        assert_eq!(compact.image, [1]);
        assert_eq!(compact.user, [3]);
    }

    #[test]
    fn mark_read_stops_each_role_at_its_first_non_empty_column() {
        let columns = Roles {
            process_name: vec![0],
            image: vec![1, 2],
            cmd_line: vec![3, 4, 5],
            dest: vec![],
            user: vec![6],
            original_file_name: vec![],
        };
        let empty = [true, false, false, true, false, false, true];
        let mut read = [false; 7];
        columns.mark_read(|k| empty[k], &mut read);
        assert_eq!(read, [true, true, false, true, true, false, true]);
    }

    #[test]
    fn resolve_keeps_only_present_columns_in_order() {
        let header = ["CommandLine", "Image", "process"];
        let cols = FieldMap::default().resolve(|n| header.iter().position(|h| *h == n));
        assert_eq!(cols.cmd_line, vec![2, 0]);
        assert_eq!(cols.image, vec![1]);
        assert!(cols.dest.is_empty());
    }
}
