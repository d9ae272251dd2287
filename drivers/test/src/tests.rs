//! The driver through `registry::open`, as a front end uses it. The state is
//! process-wide, so the whole life cycle runs in one test.

use super::*;

fn conn() -> Box<dyn Connection> {
    oxvirt_core::registry::open("test:///default").unwrap()
}

#[test]
fn default_domain_and_life_cycle() {
    let c = conn();
    assert_eq!(c.hypervisor_type(), "TEST");
    let all = ListFilter {
        active: true,
        inactive: true,
    };
    let rows = c.list(all).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "test");
    assert_eq!(rows[0].id, Some(1));
    assert_eq!(
        rows[0].uuid.to_string(),
        "6695eb01-f6a4-8304-79aa-97f2502e193f"
    );
    assert_eq!(rows[0].state, DomainState::Running);
    let test = DomainKey::Name("test".into());
    assert!(c
        .xml(&test, XmlFlags::default())
        .unwrap()
        .starts_with("<domain type='test' id='1'>"));
    assert_eq!(c.info(&test).unwrap().max_mem_kib, 8388608);

    c.suspend(&test).unwrap();
    assert_eq!(c.lookup(&test).unwrap().state, DomainState::Paused);
    assert_eq!(
        c.suspend(&test).unwrap_err().code,
        ErrorCode::OperationInvalid
    );
    c.resume(&test).unwrap();
    c.destroy(&test).unwrap();
    let s = c.lookup(&DomainKey::Uuid(rows[0].uuid)).unwrap();
    assert_eq!((s.state, s.id), (DomainState::Shutoff, None));
    assert_eq!(c.start(&test).unwrap().id, Some(2));

    let xml = "<domain type='test'><name>t2</name><memory>1024</memory><vcpu>1</vcpu></domain>";
    let d = c.define_xml(xml).unwrap();
    assert!(d.persistent && d.state == DomainState::Shutoff);
    let t2 = DomainKey::Name("t2".into());
    assert_eq!(c.start(&t2).unwrap().id, Some(3));
    assert_eq!(c.lookup(&DomainKey::Id(3)).unwrap().name, "t2");
    c.undefine(&t2).unwrap();
    assert!(!c.lookup(&t2).unwrap().persistent);
    c.destroy(&t2).unwrap();
    assert_eq!(c.lookup(&t2).unwrap_err().code, ErrorCode::NoDomain);

    let t3 = c
        .create_xml("<domain type='test'><name>t3</name></domain>")
        .unwrap();
    assert!(!t3.persistent && t3.state == DomainState::Running);
    c.shutdown(&DomainKey::Name("t3".into())).unwrap();
    assert_eq!(c.list(all).unwrap().len(), 1);
}

#[test]
fn other_uris() {
    assert!(open(&ConnectUri::parse("qemu:///system").unwrap())
        .unwrap()
        .is_none());
    assert!(open(&ConnectUri::parse("test:///tmp/x.xml").unwrap()).is_err());
}

#[test]
fn id_is_added_to_the_root() {
    assert_eq!(
        with_id("<domain type='test'><name>x</name></domain>", 4),
        "<domain type='test' id='4'><name>x</name></domain>"
    );
}
