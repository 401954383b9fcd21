//! The dashboards: pages over HTTP and a browser test.

mod dashboard;
mod pages;
