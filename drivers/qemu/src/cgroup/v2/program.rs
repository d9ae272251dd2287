//! Device rules → a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
//!
//! The kernel runs the program on every device access (open, mknod) by a process of the
//! cgroup, with `r1` pointing at
//! `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, where
//! `access_type = (access << 16) | type`. It returns 1 to allow, 0 to deny.
//!
//! The program loads the four fields once, then has one block per rule that jumps to the
//! next block on the first mismatch and returns 1 at its end; after the last block it
//! returns 0 (default deny):
//!
//! ```text
//!     r2 = *(u32 *)(r1 + 0); r2 &= 0xffff      ; type
//!     r3 = *(u32 *)(r1 + 0); r3 >>= 16         ; access asked for
//!     r4 = *(u32 *)(r1 + 4)                    ; major
//!     r5 = *(u32 *)(r1 + 8)                    ; minor
//! rule:
//!     if r2 != TYPE goto next                  ; unless the rule is for all types
//!     r1 = r3; r1 &= ACCESS; if r1 != r3 goto next   ; unless ACCESS is rwm
//!     if r4 != MAJOR goto next                 ; unless major is `*`
//!     if r5 != MINOR goto next                 ; unless minor is `*`
//!     r0 = 1; exit
//! next: ...
//!     r0 = 0; exit
//! ```

use crate::cgroup::rules::DeviceRule;

/// `BPF_DEVCG_DEV_BLOCK`, `BPF_DEVCG_DEV_CHAR` (the low half of `access_type`).
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;
/// `BPF_DEVCG_ACC_MKNOD`, `_READ`, `_WRITE` (the high half of `access_type`).
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used (class | op | source / size).
const LDX_MEM_W: u8 = 0x01 | 0x60; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K: u8 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K: u8 = 0x04 | 0x70; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_X: u8 = 0x04 | 0xb0 | 0x08; // BPF_ALU | BPF_MOV | BPF_X
const ALU64_MOV_K: u8 = 0x07 | 0xb0; // BPF_ALU64 | BPF_MOV | BPF_K
const JMP_JNE_K: u8 = 0x05 | 0x50; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x05 | 0x50 | 0x08; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x05 | 0x90; // BPF_JMP | BPF_EXIT

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// A rule checked and in numbers; `None` is the wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// [`DEV_CHAR`] or [`DEV_BLOCK`]; `None`: both.
    pub dev_type: Option<u32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `ACC_*` bits the rule allows.
    pub access: u32,
}

impl TryFrom<&DeviceRule> for Rule {
    type Error = String;

    fn try_from(r: &DeviceRule) -> Result<Rule, String> {
        let bad = |what: &str| format!("device rule '{}': {what}", r.line());
        let dev_type = match r.kind {
            'c' => Some(DEV_CHAR),
            'b' => Some(DEV_BLOCK),
            'a' => None,
            _ => return Err(bad("the type is not c, b or a")),
        };
        // Majors have 12 bits and minors 20: an `i32` immediate holds them.
        let number = |s: &str| -> Result<Option<u32>, String> {
            match s {
                "*" => Ok(None),
                _ => s
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= i32::MAX as u32)
                    .map(Some)
                    .ok_or_else(|| bad("major and minor must be numbers or '*'")),
            }
        };
        let mut access = 0;
        for c in r.access.chars() {
            access |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => return Err(bad("the access is not made of r, w and m")),
            };
        }
        Ok(Rule {
            dev_type,
            major: number(&r.major)?,
            minor: number(&r.minor)?,
            access,
        })
    }
}

/// The program allowing exactly `rules` (and nothing else).
pub fn build(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU_AND_K, R2, 0, 0, 0xffff),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for r in rules.iter().filter(|r| r.access != 0) {
        prog.extend(rule_block(r));
    }
    prog.push(insn(ALU64_MOV_K, R0, 0, 0, 0));
    prog.push(insn(JMP_EXIT, 0, 0, 0, 0));
    prog
}

/// Compile [`DeviceRule`]s (see [`build`]).
pub fn compile(rules: &[DeviceRule]) -> Result<Vec<Insn>, String> {
    let rules = rules
        .iter()
        .map(Rule::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(build(&rules))
}

/// One rule: checks that jump past the block on a mismatch, then `return 1`.
fn rule_block(r: &Rule) -> Vec<Insn> {
    let mut block = Vec::new();
    if let Some(t) = r.dev_type {
        block.push(insn(JMP_JNE_K, R2, 0, 0, t as i32));
    }
    if r.access & ACC_ALL != ACC_ALL {
        block.push(insn(ALU_MOV_X, R1, R3, 0, 0));
        block.push(insn(ALU_AND_K, R1, 0, 0, r.access as i32));
        block.push(insn(JMP_JNE_X, R1, R3, 0, 0));
    }
    if let Some(m) = r.major {
        block.push(insn(JMP_JNE_K, R4, 0, 0, m as i32));
    }
    if let Some(m) = r.minor {
        block.push(insn(JMP_JNE_K, R5, 0, 0, m as i32));
    }
    block.push(insn(ALU64_MOV_K, R0, 0, 0, 1));
    block.push(insn(JMP_EXIT, 0, 0, 0, 0));
    // Every jump goes to the first instruction after the block.
    let len = block.len();
    for (i, ins) in block.iter_mut().enumerate() {
        if ins.code == JMP_JNE_K || ins.code == JMP_JNE_X {
            ins.off = (len - i - 1) as i16;
        }
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(line: &str) -> Rule {
        let (kind, rest) = line.split_once(' ').unwrap();
        let (nums, access) = rest.split_once(' ').unwrap();
        let (major, minor) = nums.split_once(':').unwrap();
        Rule::try_from(&DeviceRule {
            kind: kind.chars().next().unwrap(),
            major: major.into(),
            minor: minor.into(),
            access: access.into(),
        })
        .unwrap()
    }

    /// A tiny interpreter for exactly the instructions [`build`] emits: the verdict for
    /// one access.
    fn run(prog: &[Insn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | dev_type, major, minor];
        let mut reg = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    reg[dst] = ctx[i.off as usize / 4] as u64;
                }
                ALU_AND_K => reg[dst] = (reg[dst] as u32 & i.imm as u32) as u64,
                ALU_RSH_K => reg[dst] = (reg[dst] as u32 >> i.imm) as u64,
                ALU_MOV_X => reg[dst] = reg[src] as u32 as u64,
                ALU64_MOV_K => reg[dst] = i.imm as i64 as u64,
                JMP_JNE_K if reg[dst] != i.imm as i64 as u64 => pc += i.off as usize,
                JMP_JNE_X if reg[dst] != reg[src] => pc += i.off as usize,
                JMP_JNE_K | JMP_JNE_X => {}
                JMP_EXIT => return reg[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    const PROLOGUE: [Insn; 6] = [
        Insn {
            code: 0x61,
            regs: 0x12,
            off: 0,
            imm: 0,
        },
        Insn {
            code: 0x54,
            regs: 0x02,
            off: 0,
            imm: 0xffff,
        },
        Insn {
            code: 0x61,
            regs: 0x13,
            off: 0,
            imm: 0,
        },
        Insn {
            code: 0x74,
            regs: 0x03,
            off: 0,
            imm: 16,
        },
        Insn {
            code: 0x61,
            regs: 0x14,
            off: 4,
            imm: 0,
        },
        Insn {
            code: 0x61,
            regs: 0x15,
            off: 8,
            imm: 0,
        },
    ];

    fn i(code: u8, regs: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    #[test]
    fn no_rules_denies_everything() {
        let p = build(&[]);
        let mut want = PROLOGUE.to_vec();
        want.extend([i(0xb7, 0, 0, 0), i(0x95, 0, 0, 0)]);
        assert_eq!(p, want);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    }

    #[test]
    fn one_char_device_read_write() {
        // c 1:3 rw (/dev/null)
        let p = build(&[rule("c 1:3 rw")]);
        let mut want = PROLOGUE.to_vec();
        want.extend([
            i(0x55, 0x02, 7, DEV_CHAR as i32), // if type != c goto deny
            i(0xbc, 0x31, 0, 0),               // r1 = r3
            i(0x54, 0x01, 0, 6),               // r1 &= r|w
            i(0x5d, 0x31, 4, 0),               // if r1 != r3 goto deny
            i(0x55, 0x04, 3, 1),               // if major != 1 goto deny
            i(0x55, 0x05, 2, 3),               // if minor != 3 goto deny
            i(0xb7, 0x00, 0, 1),               // return 1
            i(0x95, 0x00, 0, 0),
            i(0xb7, 0x00, 0, 0), // deny: return 0
            i(0x95, 0x00, 0, 0),
        ]);
        assert_eq!(p, want);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 1, 3), 0, "no mknod");
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 1, 3), 0, "block 1:3");
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 9), 0, "/dev/urandom");
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 2, 3), 0);
    }

    #[test]
    fn wildcards_and_full_access_skip_their_checks() {
        // c 136:* rw: no minor check; a *:* rwm: an unconditional allow.
        let p = build(&[rule("c 136:* rw"), rule("a *:* rwm")]);
        let mut want = PROLOGUE.to_vec();
        want.extend([
            i(0x55, 0x02, 6, DEV_CHAR as i32),
            i(0xbc, 0x31, 0, 0),
            i(0x54, 0x01, 0, 6),
            i(0x5d, 0x31, 3, 0),
            i(0x55, 0x04, 2, 136),
            i(0xb7, 0x00, 0, 1),
            i(0x95, 0x00, 0, 0),
            i(0xb7, 0x00, 0, 1),
            i(0x95, 0x00, 0, 0),
            i(0xb7, 0x00, 0, 0),
            i(0x95, 0x00, 0, 0),
        ]);
        assert_eq!(p, want);
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1);
    }

    #[test]
    fn read_only_block_device_and_the_default_acl() {
        let p = build(&[rule("c 1:3 rw"), rule("c 136:* rw"), rule("b 8:16 r")]);
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 136, 7), 1, "a pty");
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 137, 7), 0);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 16), 1);
        assert_eq!(
            run(&p, DEV_BLOCK, ACC_READ | ACC_WRITE, 8, 16),
            0,
            "read-only"
        );
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 17), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 8, 16), 0);
        // A rule that allows no access compiles to nothing.
        assert_eq!(build(&[rule("c 1:3 rw")]), {
            let mut r = vec![rule("c 1:3 rw")];
            r.push(Rule {
                access: 0,
                ..rule("c 1:5 rw")
            });
            build(&r)
        });
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = |kind, major: &str, minor: &str, access: &str| {
            Rule::try_from(&DeviceRule {
                kind,
                major: major.into(),
                minor: minor.into(),
                access: access.into(),
            })
            .unwrap_err()
        };
        assert!(bad('x', "1", "3", "rw").contains("type"));
        assert!(bad('c', "one", "3", "rw").contains("numbers"));
        assert!(bad('c', "1", "3", "rx").contains("access"));
        assert_eq!(std::mem::size_of::<Insn>(), 8);
    }
}
