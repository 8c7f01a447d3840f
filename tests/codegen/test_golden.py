"""The feature service's outputs, byte for byte, and determinism."""

import os
import sys
import unittest

from .support import (
    FEATURES_EXPECTED, FEATURES_IDL, IDL_DIR, REGENERATE_FEATURES, REPO, TempDir, drift_report,
    generate_dir, run,
)


class GoldenOutputTest(unittest.TestCase):
    def test_feature_outputs_match_expected_files(self):
        report = drift_report(generate_dir(FEATURES_IDL), FEATURES_EXPECTED)
        self.assertEqual(report, "", f"\n{report}\nIf the change is intended, run: "
                         f"{REGENERATE_FEATURES}")

    def test_every_artifact_is_covered(self):
        paths = set(generate_dir(FEATURES_IDL))
        for expected in [
            "generated/include/corosync/feature.h", "generated/include/corosync/corotypes.h",
            "generated/feature/feature.proto", "generated/feature/feature-client.h",
            "generated/feature/feature-client.c", "generated/feature/feature-server.h",
            "generated/feature/feature-server.c", "generated/feature/libfeature.map",
            "generated/feature/libfeature.pc.in", "generated/feature/feature.cmake",
            "generated/common/cs_strerror.c", "generated/common/libcorosync_common.map",
            "generated/common/libcorosync_common.pc.in", "man/man3/feature_overview.3",
            "man/man3/feature_get_record.3", "man/man3/cs_strerror.3",
            "generated/include/corosync/extra.h", "man/man3/extra_overview.3",
            "generated/include/conclave/cv-status.h",
        ]:
            self.assertIn(expected, paths)

    def test_a_common_file_without_library_gives_a_header_and_a_page_only(self):
        paths = [p for p in generate_dir(FEATURES_IDL) if "extra" in p]
        self.assertEqual(paths, ["generated/include/corosync/extra.h", "man/man3/extra_overview.3"])

    def test_internal_functions_have_no_page_and_no_export(self):
        outputs = generate_dir(FEATURES_IDL)
        self.assertNotIn("man/man3/feature_hidden.3", outputs)
        self.assertNotIn("feature_hidden", outputs["generated/feature/libfeature.map"])
        self.assertNotIn("feature_hidden(feature_handle_t",
                         outputs["generated/include/corosync/feature.h"])
        self.assertIn("CV_HIDDEN cs_error_t feature_hidden(",
                      outputs["generated/feature/feature-client.h"])

    def test_internal_callbacks_are_events_declared_in_the_client_header_only(self):
        outputs = generate_dir(FEATURES_IDL)
        self.assertNotIn("feature_raw_fn_t", outputs["generated/include/corosync/feature.h"])
        self.assertNotIn("feature_raw_fn_t", outputs["man/man3/feature_overview.3"])
        self.assertIn("typedef void (*feature_raw_fn_t)(",
                      outputs["generated/feature/feature-client.h"])
        self.assertIn("FEATURE_EVENT_RAW = 4", outputs["generated/feature/feature-server.h"])
        self.assertIn("message FeatureRawEvent", outputs["generated/feature/feature.proto"])

    def test_manual_callbacks_are_public_types_without_an_event(self):
        outputs = generate_dir(FEATURES_IDL)
        self.assertIn("typedef void (*feature_visit_fn_t)(",
                      outputs["generated/include/corosync/feature.h"])
        self.assertIn("feature_visit_fn_t", outputs["man/man3/feature_overview.3"])
        self.assertNotIn("Visit", outputs["generated/feature/feature.proto"])
        self.assertNotIn("VISIT", outputs["generated/feature/feature-client.h"])

    def test_counted_bytes_and_malloced_outputs(self):
        outputs = generate_dir(FEATURES_IDL)
        proto = outputs["generated/feature/feature.proto"]
        for line in ("bytes octets = 2;", "bytes value = 2;", "bytes text = 3;", "bytes data = 2;",
                     "string name = 1;", "repeated uint32 ids = 2;", "bytes data = 3;",
                     "repeated FeatureRecordT records = 4;"):
            self.assertIn(line, proto)
        self.assertNotIn("n_ids", proto)
        self.assertIn("*echo is a malloc'd copy, which the caller frees with free()",
                      outputs["generated/feature/feature-client.h"])
        self.assertIn("are malloc'd copies, which the caller frees with",
                      outputs["man/man3/feature_lookup.3"])

    def test_len_status_is_checked_after_null_pointers(self):
        client = generate_dir(FEATURES_IDL)["generated/feature/feature-client.c"]
        self.assertIn("\t    echo == NULL)\n\t\treturn CS_ERR_INVALID_PARAM;\n"
                      "\tif (!string_length_ok(key, 1, FEATURE_KEY_MAX))\n\t\treturn CS_ERR_NAME_TOO_LONG;\n",
                      client)
        self.assertIn('request.prefix = prefix != NULL ? (char *)prefix : "";', client)

    def test_manual_functions_are_declared_but_not_generated(self):
        outputs = generate_dir(FEATURES_IDL)
        self.assertIn("feature_helper(", outputs["generated/include/corosync/feature.h"])
        self.assertNotIn("feature_helper(", outputs["generated/feature/feature-client.c"])
        self.assertIn("feature_helper;", outputs["generated/feature/libfeature.map"])

    def test_unversioned_functions_stay_out_of_the_node(self):
        linker_map = generate_dir(FEATURES_IDL)["generated/feature/libfeature.map"]
        self.assertIn("\t\tfeature_context_get;\n", linker_map)
        self.assertNotIn("feature_context_set;", linker_map)
        self.assertNotIn("local:", linker_map)


class DeterminismTest(unittest.TestCase):
    def test_two_runs_give_identical_output(self):
        for idl_dir in (IDL_DIR, FEATURES_IDL):
            with self.subTest(idl_dir=idl_dir):
                self.assertEqual(generate_dir(idl_dir), generate_dir(idl_dir))

    def test_separate_processes_with_different_hash_seeds_agree(self):
        with TempDir() as out:
            trees = []
            for seed in ("1", "2"):
                target = os.path.join(out, seed)
                env = dict(os.environ, PYTHONHASHSEED=seed)
                result = run([sys.executable, "-m", "codegen", "--idl-dir", IDL_DIR,
                              "--out", target], cwd=REPO, env=env)
                self.assertEqual(result.returncode, 0, result.stderr)
                trees.append(_read_tree(target))
            self.assertEqual(trees[0], trees[1])

    def test_every_file_starts_with_the_generated_notice(self):
        for path, text in generate_dir(IDL_DIR).items():
            with self.subTest(path=path):
                first_line = text.split("\n", 1)[0]
                self.assertRegex(first_line, "Generated by codegen from (idl/|include/conclave/(service|client-runtime).h)")
                self.assertIn("do not edit", first_line)


def _read_tree(root):
    tree = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as stream:
                tree[os.path.relpath(path, root)] = stream.read()
    return tree


if __name__ == "__main__":
    unittest.main()
